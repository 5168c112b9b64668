;; expect: this continuation can no longer be called
(define saved #f)
(display (+ 1 (call/cc (lambda (k) (set! saved k) 1))))
(saved 5)
