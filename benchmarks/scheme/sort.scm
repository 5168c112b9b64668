;; Merge sort of pseudo-random lists: every merge allocates a fresh list.
(import (scheme base) (scheme write) (scheme process-context))

(define seed 42)
(define (random-next!)
  (set! seed (modulo (+ (* seed 1103515245) 12345) 2147483648))
  seed)

(define (random-list n) (let loop ((i 0) (l '())) (if (= i n) l (loop (+ i 1) (cons (random-next!) l)))))

(define (merge a b)
  (cond ((null? a) b)
        ((null? b) a)
        ((< (car a) (car b)) (cons (car a) (merge (cdr a) b)))
        (else (cons (car b) (merge a (cdr b))))))

(define (split l)
  (if (or (null? l) (null? (cdr l)))
      (values l '())
      (let-values (((a b) (split (cddr l))))
        (values (cons (car l) a) (cons (cadr l) b)))))

(define (merge-sort l)
  (if (or (null? l) (null? (cdr l)))
      l
      (let-values (((a b) (split l)))
        (merge (merge-sort a) (merge-sort b)))))

(define (sorted? l) (or (null? l) (null? (cdr l)) (and (<= (car l) (cadr l)) (sorted? (cdr l)))))

(define (run rounds)
  (let loop ((i 0) (check 0))
    (if (= i rounds)
        check
        (let ((s (merge-sort (random-list 20000))))
          (unless (sorted? s) (error "sort: not sorted"))
          (loop (+ i 1) (modulo (+ check (car s) (list-ref s 10000)) 1000000007))))))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 2 10))))
  (if (= result (if quick 148201876 752560416))
      (begin (display "sort: ok") (newline))
      (error "sort: wrong result" result)))
