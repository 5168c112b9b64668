;; Deep non-tail recursion past the stack limit is an error that names the limit.
(define (depth n) (+ 1 (depth (+ n 1))))
(depth 0)
