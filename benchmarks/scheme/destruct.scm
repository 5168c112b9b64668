;; Destructive list operations (after Gabriel's destruct): set-car!/set-cdr! on a
;; long-lived structure, storing fresh lists into old pairs.
(import (scheme base) (scheme write) (scheme process-context))

(define (destructive n m)
  (let ((l (do ((i 10 (- i 1)) (a '() (cons '() a))) ((= i 0) a))))
    (do ((i n (- i 1))) ((= i 0))
      (cond ((null? (car l))
             (do ((l l (cdr l))) ((null? l))
               (if (null? (car l)) (set-car! l (cons '() '())))
               (append! (car l) (do ((j m (- j 1)) (a '() (cons '() a))) ((= j 0) a)))))
            (else
             (do ((l1 l (cdr l1)) (l2 (cdr l) (cdr l2))) ((null? l2))
               (set-cdr! (do ((j (quotient (length (car l2)) 2) (- j 1)) (a (car l2) (cdr a)))
                             ((zero? j) a)
                           (set-car! a i))
                         (let ((n (quotient (length (car l1)) 2)))
                           (cond ((= n 0) (set-car! l1 '()) (car l1))
                                 (else
                                  (do ((j n (- j 1)) (a (car l1) (cdr a)))
                                      ((= j 1) (let ((x (cdr a))) (set-cdr! a '()) x))
                                    (set-car! a i))))))))))
    l))

(define (run rounds)
  (let loop ((i 0) (total 0))
    (if (= i rounds)
        total
        (loop (+ i 1) (+ total (apply + (map length (destructive 600 50))))))))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 8 40))))
  (if (= result (if quick 480 2400))
      (begin (display "destruct: ok") (newline))
      (error "destruct: wrong result" result)))
