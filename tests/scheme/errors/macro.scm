;; expect: macros (define-syntax, syntax-rules) are not supported
(define-syntax swap! (syntax-rules () ((_ a b) (let ((t a)) (set! a b) (set! b t)))))
