;; A long-lived table updated with fresh objects: a hash table (a vector of association
;; lists) that lives in the old generation while every update stores a young entry into
;; it, the case a generational write barrier exists for.
(import (scheme base) (scheme write) (scheme process-context))

(define size 4096)
(define table (make-vector size '()))

(define (hash key) (modulo (* key 2654435761) size))

(define (table-update! key f default)
  (let* ((h (hash key)) (bucket (vector-ref table h)) (entry (assv key bucket)))
    (if entry
        (set-cdr! entry (f (cdr entry)))
        (vector-set! table h (cons (cons key (f default)) bucket)))))

(define (table-fold f acc)
  (let loop ((i 0) (acc acc))
    (if (= i size)
        acc
        (loop (+ i 1) (let inner ((b (vector-ref table i)) (acc acc))
                        (if (null? b) acc (inner (cdr b) (f (car b) acc))))))))

(define (run n)
  (do ((i 0 (+ i 1))) ((= i n))
    (let ((key (modulo (* i 7919) 20011)))
      ;; each value is a fresh list: the old table now points to young data
      (table-update! key (lambda (old) (cons i (if (> (length old) 4) (list (car old)) old))) '())))
  (table-fold (lambda (entry acc) (+ acc (car entry) (length (cdr entry)))) 0))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 200000 1000000))))
  (if (= result (if quick 200250407 200251727))
      (begin (display "table: ok") (newline))
      (error "table: wrong result" result)))
