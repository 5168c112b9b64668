;; expect: error: add2: wrong number of arguments (1 given)
(define (add2 a b) (+ a b))
(add2 1)
