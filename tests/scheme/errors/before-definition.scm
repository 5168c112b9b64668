;; expect: variable used before its definition b
(define (f)
  (define a b)
  (define b 1)
  a)
(f)
