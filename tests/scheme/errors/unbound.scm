;; expect: unbound.scm:3:10: error: unbound variable no-such-variable
(define x 1)
(display (no-such-variable x))
