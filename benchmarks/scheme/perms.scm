;; Permutations (after Larceny's perm9): all permutations of a list, as fresh lists, and
;; a checksum over them; the permutation list is long-lived while it is summed.
(import (scheme base) (scheme write) (scheme process-context))

(define (permutations l)
  (if (null? l)
      (list '())
      (let loop ((rest l) (acc '()))
        (if (null? rest)
            acc
            (let* ((x (car rest))
                   (others (remove-one x l))
                   (sub (permutations others)))
              (loop (cdr rest)
                    (append (map (lambda (p) (cons x p)) sub) acc)))))))

(define (remove-one x l)
  (cond ((null? l) '())
        ((eqv? (car l) x) (cdr l))
        (else (cons (car l) (remove-one x (cdr l))))))

(define (checksum perms)
  (let loop ((ps perms) (sum 0))
    (if (null? ps)
        sum
        (loop (cdr ps)
              (let inner ((p (car ps)) (k 1) (s sum))
                (if (null? p) s (inner (cdr p) (+ k 1) (modulo (+ s (* k (car p))) 1000003))))))))

(define (run rounds)
  (let loop ((i 0) (acc 0))
    (if (= i rounds)
        acc
        (let ((ps (permutations '(1 2 3 4 5 6 7 8))))
          (loop (+ i 1) (+ acc (length ps) (checksum ps)))))))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 3 12))))
  (if (= result (if quick 1716426 6865704))
      (begin (display "perms: ok") (newline))
      (error "perms: wrong result" result)))
