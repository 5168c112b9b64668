;; Term rewriting (in the spirit of Boyer): simplifies arithmetic terms to a normal form
;; by rules applied bottom-up until nothing changes; every step builds fresh terms.
(import (scheme base) (scheme write) (scheme process-context))

(define (rewrite-once t)
  (if (not (pair? t))
      t
      (let ((t (cons (car t) (map rewrite-once (cdr t)))))
        (apply-rules t))))

(define (apply-rules t)
  (let ((op (car t)))
    (cond ((and (eq? op '+) (equal? (cadr t) 0)) (caddr t))
          ((and (eq? op '+) (equal? (caddr t) 0)) (cadr t))
          ((and (eq? op '*) (equal? (cadr t) 1)) (caddr t))
          ((and (eq? op '*) (equal? (caddr t) 1)) (cadr t))
          ((and (eq? op '*) (or (equal? (cadr t) 0) (equal? (caddr t) 0))) 0)
          ((and (memq op '(+ *)) (number? (cadr t)) (number? (caddr t)))
           (if (eq? op '+) (+ (cadr t) (caddr t)) (* (cadr t) (caddr t))))
          ;; (* a (+ b c)) -> (+ (* a b) (* a c))
          ((and (eq? op '*) (pair? (caddr t)) (eq? (car (caddr t)) '+))
           (list '+ (list '* (cadr t) (cadr (caddr t))) (list '* (cadr t) (caddr (caddr t)))))
          ;; (+ (+ a b) c) -> (+ a (+ b c))
          ((and (eq? op '+) (pair? (cadr t)) (eq? (car (cadr t)) '+))
           (list '+ (cadr (cadr t)) (list '+ (caddr (cadr t)) (caddr t))))
          (else t))))

(define (normalize t)
  (let ((u (rewrite-once t)))
    (if (equal? u t) t (normalize u))))

(define (term n)
  (if (= n 0)
      'x
      (list '* (list '+ (term (- n 1)) (modulo n 3)) (list '+ 'y (list '* 1 (- n 1))))))

(define (count-leaves t) (if (pair? t) (apply + (map count-leaves (cdr t))) 1))

(define (run rounds)
  (let loop ((i 0) (total 0))
    (if (= i rounds)
        total
        (loop (+ i 1) (+ total (count-leaves (normalize (term 12))))))))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 12 60))))
  (if (= result (if quick 145656 728280))
      (begin (display "rewrite: ok") (newline))
      (error "rewrite: wrong result" result)))
