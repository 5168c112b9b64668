;; Graph search: a pseudo-random directed graph as adjacency lists in a vector, searched
;; breadth-first from every vertex; each search allocates its queue and visited marks.
(import (scheme base) (scheme write) (scheme process-context))

(define seed 12345)
(define (random-next!)
  (set! seed (modulo (+ (* seed 1103515245) 12345) 2147483648))
  seed)

(define (make-graph n degree)
  (let ((g (make-vector n '())))
    (do ((v 0 (+ v 1))) ((= v n) g)
      (do ((k 0 (+ k 1))) ((= k degree))
        (vector-set! g v (cons (modulo (random-next!) n) (vector-ref g v)))))))

;; Sum of BFS distances from `start` to every reachable vertex.
(define (bfs-sum g start)
  (let ((dist (make-vector (vector-length g) #f)))
    (vector-set! dist start 0)
    (let loop ((frontier (list start)) (next '()) (sum 0))
      (cond ((and (null? frontier) (null? next)) sum)
            ((null? frontier) (loop (reverse next) '() sum))
            (else
             (let* ((v (car frontier)) (d (vector-ref dist v)))
               (let scan ((es (vector-ref g v)) (next next) (sum sum))
                 (cond ((null? es) (loop (cdr frontier) next sum))
                       ((vector-ref dist (car es)) (scan (cdr es) next sum))
                       (else
                        (vector-set! dist (car es) (+ d 1))
                        (scan (cdr es) (cons (car es) next) (+ sum d 1)))))))))))

(define (run n)
  (let ((g (make-graph n 3)))
    (let loop ((v 0) (total 0))
      (if (= v n) total (loop (+ v 1) (+ total (bfs-sum g v)))))))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 700 1500))))
  (if (= result (if quick 2646815 13603913))
      (begin (display "graph: ok") (newline))
      (error "graph: wrong result" result)))
