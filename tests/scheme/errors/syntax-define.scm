;; expect: syntax error: define is allowed only at top level or at the start of a body
(display (if #t (define x 1) 2))
