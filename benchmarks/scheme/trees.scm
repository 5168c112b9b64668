;; Tree building (binary-trees): many short-lived trees beside one long-lived tree.
(import (scheme base) (scheme write) (scheme process-context))

(define (make-tree depth)
  (if (= depth 0)
      (cons '() '())
      (cons (make-tree (- depth 1)) (make-tree (- depth 1)))))

(define (check-tree t)
  (if (null? (car t))
      1
      (+ 1 (check-tree (car t)) (check-tree (cdr t)))))

(define (run max-depth)
  (let ((long-lived (make-tree max-depth)))
    (let loop ((depth 4) (total 0))
      (if (> depth max-depth)
          (+ total (check-tree long-lived))
          (let* ((iterations (expt 2 (+ (- max-depth depth) 4)))
                 (sum (do ((i 0 (+ i 1))
                           (s 0 (+ s (check-tree (make-tree depth)))))
                          ((= i iterations) s))))
            (loop (+ depth 2) (+ total sum)))))))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(define expected (if quick 658095 3156655))
(let ((result (run (if quick 12 14))))
  (if (= result expected)
      (begin (display "trees: ok") (newline))
      (error "trees: wrong result" result expected)))
