;; expect: read-close.scm:3:6: error: read error: unexpected closing parenthesis
(display 1)
(+ 1))
