;; Symbolic differentiation (after Gabriel's deriv): builds many small expression trees.
(import (scheme base) (scheme write) (scheme process-context))

(define (deriv a)
  (cond ((not (pair? a)) (if (eq? a 'x) 1 0))
        ((eq? (car a) '+) (cons '+ (map deriv (cdr a))))
        ((eq? (car a) '-) (cons '- (map deriv (cdr a))))
        ((eq? (car a) '*)
         (list '* a (cons '+ (map (lambda (a) (list '/ (deriv a) a)) (cdr a)))))
        ((eq? (car a) '/)
         (list '- (list '/ (deriv (cadr a)) (caddr a))
               (list '/ (cadr a) (list '* (caddr a) (caddr a) (deriv (caddr a))))))
        (else (error "deriv: unknown operator" (car a)))))

(define (size e) (if (pair? e) (+ 1 (apply + (map size e))) 1))

(define expr '(+ (* 3 x x) (* a x x) (* b x) 5 (/ x (+ x 1)) (- (* x x x) (* 2 x))))

(define (run n)
  (let loop ((i 0) (total 0))
    (if (= i n)
        total
        (loop (+ i 1) (+ total (size (deriv (deriv expr))))))))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 8000 40000))))
  (if (= result (* (if quick 8000 40000) (size (deriv (deriv expr)))))
      (begin (display "deriv: ok") (newline))
      (error "deriv: wrong result" result)))
