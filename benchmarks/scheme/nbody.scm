;; Floating-point simulation (n-body): bodies are long-lived vectors whose fields are
;; replaced by fresh flonums at every step, old-to-young stores of boxed numbers.
(import (scheme base) (scheme write) (scheme process-context) (scheme inexact))

(define (make-body x y z vx vy vz m) (vector x y z vx vy vz m))

(define bodies
  (list (make-body 0.0 0.0 0.0 0.0 0.0 0.0 39.47841760435743)
        (make-body 4.84 -1.16 -0.10 0.606 2.81 -0.02 0.037)
        (make-body 8.34 4.12 -0.40 -1.01 1.82 0.008 0.011)
        (make-body 12.89 -15.11 -0.22 1.08 0.868 -0.01 0.0017)
        (make-body 15.37 -25.91 0.179 0.979 0.594 -0.034 0.002)))

(define (advance! dt)
  (let loop ((bs bodies))
    (when (pair? bs)
      (let ((a (car bs)))
        (for-each
         (lambda (b)
           (let* ((dx (- (vector-ref a 0) (vector-ref b 0)))
                  (dy (- (vector-ref a 1) (vector-ref b 1)))
                  (dz (- (vector-ref a 2) (vector-ref b 2)))
                  (d2 (+ (* dx dx) (* dy dy) (* dz dz)))
                  (mag (/ dt (* d2 (sqrt d2)))))
             (vector-set! a 3 (- (vector-ref a 3) (* dx (vector-ref b 6) mag)))
             (vector-set! a 4 (- (vector-ref a 4) (* dy (vector-ref b 6) mag)))
             (vector-set! a 5 (- (vector-ref a 5) (* dz (vector-ref b 6) mag)))
             (vector-set! b 3 (+ (vector-ref b 3) (* dx (vector-ref a 6) mag)))
             (vector-set! b 4 (+ (vector-ref b 4) (* dy (vector-ref a 6) mag)))
             (vector-set! b 5 (+ (vector-ref b 5) (* dz (vector-ref a 6) mag)))))
         (cdr bs)))
      (loop (cdr bs))))
  (for-each (lambda (b)
              (vector-set! b 0 (+ (vector-ref b 0) (* dt (vector-ref b 3))))
              (vector-set! b 1 (+ (vector-ref b 1) (* dt (vector-ref b 4))))
              (vector-set! b 2 (+ (vector-ref b 2) (* dt (vector-ref b 5)))))
            bodies))

(define (energy)
  (let loop ((bs bodies) (e 0.0))
    (if (null? bs)
        e
        (let* ((a (car bs))
               (e (+ e (* 0.5 (vector-ref a 6)
                          (+ (square (vector-ref a 3)) (square (vector-ref a 4))
                             (square (vector-ref a 5)))))))
          (loop (cdr bs)
                (let inner ((others (cdr bs)) (e e))
                  (if (null? others)
                      e
                      (let* ((b (car others))
                             (dx (- (vector-ref a 0) (vector-ref b 0)))
                             (dy (- (vector-ref a 1) (vector-ref b 1)))
                             (dz (- (vector-ref a 2) (vector-ref b 2))))
                        (inner (cdr others)
                               (- e (/ (* (vector-ref a 6) (vector-ref b 6))
                                       (sqrt (+ (* dx dx) (* dy dy) (* dz dz))))))))))))))

(define (run steps)
  (do ((i 0 (+ i 1))) ((= i steps)) (advance! 0.01))
  (round (* (energy) 1e6)))

;; The input: smaller with GCVM_BENCH_SIZE=quick (scripts/run-benchmarks.sh --quick).
(define quick (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick"))
(let ((result (run (if quick 12000 60000))))
  (if (= result (if quick -166449.0 -166489.0))
      (begin (display "nbody: ok") (newline))
      (error "nbody: wrong result" result)))
