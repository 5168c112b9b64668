;; A small program for guest mode (--vm and the gcvm barriers, where ring 0 may be
;; emulated at about 1 us per instruction): a long-lived list whose elements are
;; replaced by young vectors across collections, then checked.
(import (scheme base) (scheme write))
(define (build n) (if (= n 0) '() (cons (make-vector 3 n) (build (- n 1)))))
(define keep (build 200))
(define (churn i)
  (when (> i 0)
    (set-car! (list-tail keep (modulo i 200)) (make-vector 3 i))
    (churn (- i 1))))
(churn 3000)
(display (apply + (map (lambda (v) (vector-ref v 0)) keep)))
(newline)
