;; A \x escape in a string must name a Unicode scalar value (not a surrogate).
;; expect: read error: bad \x escape in a string
(display "\xd800;")
