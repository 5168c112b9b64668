;; expect: read error: the text ends inside a list
(define (f x)
  (+ x 1)
