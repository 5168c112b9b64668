;; A large live heap churned in place: a vector of a million small records (about 140 MB
;; live with their payload lists) in which four million random entries are replaced by
;; fresh records. Every replacement stores a young object into one large old vector at a
;; random place: finding those stores must cost what was written, not the vector's size,
;; and the dead records make the old generation turn over.
;;
;; An optional first argument sets the number of entries (default a million, 100,000 with
;; GCVM_BENCH_SIZE=quick as scripts/run-benchmarks.sh --quick sets); the program always
;; replaces four times as many.
(import (scheme base) (scheme write) (scheme process-context))

(define-record-type item (make-item id payload) item? (id item-id) (payload item-payload))

(define entries
  (let ((args (command-line)))
    (or (and (pair? args) (pair? (cdr args)) (string->number (cadr args)))
        (if (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick") 100000 1000000))))
(define replacements (* 4 entries))

(define seed 1)
(define (next-random!) ; Park and Miller's minimal standard generator
  (set! seed (modulo (* seed 48271) 2147483647))
  seed)

(define (fresh-item id) (make-item id (list id (+ id 1) (+ id 2))))
(define (item-ok? it)
  (let ((id (item-id it)) (p (item-payload it)))
    (and (= (car p) id) (= (cadr p) (+ id 1)) (= (caddr p) (+ id 2)))))

(define table (make-vector entries #f))
(define id-sum 0) ; the sum of the ids in the table, kept as entries are replaced

(define (fill!)
  (do ((i 0 (+ i 1))) ((= i entries))
    (vector-set! table i (fresh-item i))
    (set! id-sum (+ id-sum i))))

(define (churn!)
  (do ((k 0 (+ k 1))) ((= k replacements))
    (let* ((i (modulo (next-random!) entries)) (id (+ entries k)))
      (set! id-sum (+ id-sum (- id (item-id (vector-ref table i)))))
      (vector-set! table i (fresh-item id)))))

(define (walk-sum)
  (let loop ((i 0) (sum 0))
    (if (= i entries)
        sum
        (let ((it (vector-ref table i)))
          (if (item-ok? it)
              (loop (+ i 1) (+ sum (item-id it)))
              (error "churn: a damaged record at" i))))))

(fill!)
(churn!)
(let ((walked (walk-sum)))
  (if (= walked id-sum)
      (begin (display "churn: ok") (newline))
      (error "churn: wrong sum" walked id-sum)))
