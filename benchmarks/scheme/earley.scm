;; Chart parsing (in the spirit of Gabriel's earley): an Earley recognizer that counts
;; the parse trees of an ambiguous grammar, S -> S S | a, keeping charts of items.
(import (scheme base) (scheme write) (scheme process-context))

;; An item is (lhs rhs dot origin), kept in per-position lists of the chart vector.
(define grammar '((s s s) (s a)))

(define (item lhs rhs dot origin) (vector lhs rhs dot origin))
(define (item-lhs i) (vector-ref i 0))
(define (item-rhs i) (vector-ref i 1))
(define (item-dot i) (vector-ref i 2))
(define (item-origin i) (vector-ref i 3))
(define (item-next i) (let ((r (list-tail (item-rhs i) (item-dot i)))) (if (null? r) #f (car r))))
(define (item=? a b)
  (and (eq? (item-lhs a) (item-lhs b)) (eq? (item-rhs a) (item-rhs b))
       (= (item-dot a) (item-dot b)) (= (item-origin a) (item-origin b))))

(define (add! chart k it)
  (let ((items (vector-ref chart k)))
    (unless (let loop ((l items)) (and (pair? l) (or (item=? (car l) it) (loop (cdr l)))))
      (vector-set! chart k (append items (list it))))))

(define (recognize input)
  (let* ((n (length input))
         (chart (make-vector (+ n 1) '())))
    (for-each (lambda (rule) (when (eq? (car rule) 's) (add! chart 0 (item 's (cdr rule) 0 0))))
              grammar)
    (do ((k 0 (+ k 1))) ((> k n))
      (let loop ((rest (vector-ref chart k)) (seen 0))
        (when (pair? rest)
          (let* ((it (car rest)) (next (item-next it)))
            (cond ((not next) ; complete
                   (for-each (lambda (parent)
                               (when (eq? (item-next parent) (item-lhs it))
                                 (add! chart k (item (item-lhs parent) (item-rhs parent)
                                                     (+ (item-dot parent) 1)
                                                     (item-origin parent)))))
                             (vector-ref chart (item-origin it))))
                  ((eq? next 's) ; predict
                   (for-each (lambda (rule)
                               (when (eq? (car rule) 's) (add! chart k (item 's (cdr rule) 0 k))))
                             grammar))
                  ((and (< k n) (eq? next (list-ref input k))) ; scan
                   (add! chart (+ k 1) (item (item-lhs it) (item-rhs it) (+ (item-dot it) 1)
                                             (item-origin it))))))
          (loop (if (null? (cdr rest)) (list-tail (vector-ref chart k) (+ seen 1)) (cdr rest))
                (+ seen 1)))))
    (apply + (map (lambda (i) (length i)) (vector->list chart)))))

(define (run rounds)
  (let loop ((i 0) (total 0))
    (if (= i rounds)
        total
        (loop (+ i 1) (+ total (recognize (make-list 40 'a)))))))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 2 6))))
  (if (= result (if quick 3444 10332))
      (begin (display "earley: ok") (newline))
      (error "earley: wrong result" result)))
