;; Parallel search over a shared structure: one balanced binary search tree of N keys
;; (the multiples of 3 below 3N, nodes are vectors), built once, then searched by N
;; threads, each for its share of every integer below 3N. Usage: psearch.scm [THREADS
;; [N]]; prints "psearch: ok" when the hits and the sum of the keys found add up.
(import (scheme base) (scheme write) (scheme process-context) (srfi 18))

(define (argument n default)
  (let ((args (command-line)))
    (or (and (> (length args) n) (string->number (list-ref args n))) default)))

(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(define nthreads (argument 1 2))
(define size (argument 2 (if quick 20000 300000)))

;; The tree over keys[lo, hi): #(key left right), or '() when empty.
(define (build keys lo hi)
  (if (>= lo hi)
      '()
      (let ((mid (quotient (+ lo hi) 2)))
        (vector (vector-ref keys mid) (build keys lo mid) (build keys (+ mid 1) hi)))))

(define tree
  (let ((keys (make-vector size 0)))
    (do ((i 0 (+ i 1))) ((= i size)) (vector-set! keys i (* 3 i)))
    (build keys 0 size)))

(define (lookup t k)
  (cond ((null? t) #f)
        ((= k (vector-ref t 0)) (vector-ref t 0))
        ((< k (vector-ref t 0)) (lookup (vector-ref t 1) k))
        (else (lookup (vector-ref t 2) k))))

;; Thread j looks up every integer q below 3N with q = j modulo nthreads; it returns
;; (hits . sum of the keys found).
(define (share j)
  (lambda ()
    (let loop ((q j) (hits 0) (sum 0))
      (if (>= q (* 3 size))
          (cons hits sum)
          (let ((found (lookup tree q)))
            (if found
                (loop (+ q nthreads) (+ hits 1) (+ sum found))
                (loop (+ q nthreads) hits sum)))))))

(define threads
  (let start ((j 0) (acc '()))
    (if (= j nthreads)
        acc
        (start (+ j 1) (cons (thread-start! (make-thread (share j))) acc)))))
(define results (map thread-join! threads))
(define hits (apply + (map car results)))
(define sum (apply + (map cdr results)))

(if (and (>= nthreads 1) (= hits size) (= sum (* 3 (quotient (* size (- size 1)) 2))))
    (begin (display "psearch: ok") (newline))
    (error "psearch: wrong result" hits sum))
