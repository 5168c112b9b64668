;; Parallel binary trees: the work of trees.scm (many short-lived trees of each depth)
;; split among N threads, each building and checking its own trees in its share of the
;; heap. Usage: ptrees.scm [THREADS [MAX-DEPTH]]; prints "ptrees: ok" when the checksum
;; of every thread's trees adds up.
(import (scheme base) (scheme write) (scheme process-context) (srfi 18))

(define (make-tree depth)
  (if (= depth 0)
      (cons '() '())
      (cons (make-tree (- depth 1)) (make-tree (- depth 1)))))

(define (check-tree t)
  (if (null? (car t))
      1
      (+ 1 (check-tree (car t)) (check-tree (cdr t)))))

(define (argument n default)
  (let ((args (command-line)))
    (or (and (> (length args) n) (string->number (list-ref args n))) default)))

(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(define nthreads (argument 1 2))
(define max-depth (argument 2 (if quick 12 16)))

(define (iterations depth) (expt 2 (+ (- max-depth depth) 4)))

;; Thread k builds the trees whose index is k modulo nthreads, at every depth.
(define (share k)
  (lambda ()
    (let loop ((depth 4) (total 0))
      (if (> depth max-depth)
          total
          (let ((n (iterations depth)))
            (let build ((i k) (sum 0))
              (if (>= i n)
                  (loop (+ depth 2) (+ total sum))
                  (build (+ i nthreads) (+ sum (check-tree (make-tree depth)))))))))))

(define threads
  (let start ((k 0) (acc '()))
    (if (= k nthreads)
        acc
        (start (+ k 1) (cons (thread-start! (make-thread (share k))) acc)))))
(define result (apply + (map thread-join! threads)))

;; A tree of depth d has 2^(d+1) - 1 nodes.
(define expected
  (let loop ((depth 4) (total 0))
    (if (> depth max-depth)
        total
        (loop (+ depth 2) (+ total (* (iterations depth) (- (expt 2 (+ depth 1)) 1)))))))
(if (and (>= nthreads 1) (= result expected))
    (begin (display "ptrees: ok") (newline))
    (error "ptrees: wrong result" result expected))
