;; expect: read error: the text ends inside a string
(display "never closed)
