;; expect: error: car: expected a pair, got 5
(define (first x) (car x))
(first 5)
