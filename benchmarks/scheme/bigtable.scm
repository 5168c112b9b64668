;; A large long-lived table updated with young entries: a hash table (a vector of
;; association lists) that grows to half a million keys (about 50 MB live with their
;; values), then takes three times as many updates, each replacing a key's value by a
;; fresh list. Every update stores a young object into an old bucket entry, anywhere in
;; the table.
;;
;; An optional first argument sets the number of keys (default 500,000, 100,000 with
;; GCVM_BENCH_SIZE=quick); the program always makes three times as many updates.
(import (scheme base) (scheme write) (scheme process-context))

(define keys
  (let ((args (command-line)))
    (or (and (pair? args) (pair? (cdr args)) (string->number (cadr args)))
        (if (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick") 100000 500000))))
(define buckets (+ 1 (quotient keys 4)))
(define table (make-vector buckets '()))

(define seed 7)
(define (next-random!) ; Park and Miller's minimal standard generator
  (set! seed (modulo (* seed 48271) 2147483647))
  seed)

(define (value-of n) (list n (* 2 n)))
(define value-sum 0) ; the sum of every value's first element, kept as values change

(define (update! key n)
  (let* ((b (modulo key buckets)) (entry (assv key (vector-ref table b))))
    (if entry
        (begin
          (set! value-sum (+ value-sum (- n (cadr entry))))
          (set-cdr! entry (value-of n)))
        (begin
          (set! value-sum (+ value-sum n))
          (vector-set! table b (cons (cons key (value-of n)) (vector-ref table b)))))))

(do ((k 0 (+ k 1))) ((= k keys)) (update! k k))
(do ((u 0 (+ u 1))) ((= u (* 3 keys))) (update! (modulo (next-random!) keys) (+ keys u)))

(define (walk)
  (let loop ((b 0) (sum 0) (count 0))
    (if (= b buckets)
        (cons sum count)
        (let inner ((l (vector-ref table b)) (sum sum) (count count))
          (if (null? l)
              (loop (+ b 1) sum count)
              (let ((v (cdar l)))
                (if (= (cadr v) (* 2 (car v)))
                    (inner (cdr l) (+ sum (car v)) (+ count 1))
                    (error "bigtable: a damaged value" v))))))))

(let ((result (walk)))
  (if (and (= (car result) value-sum) (= (cdr result) keys))
      (begin (display "bigtable: ok") (newline))
      (error "bigtable: wrong result" result value-sum)))
