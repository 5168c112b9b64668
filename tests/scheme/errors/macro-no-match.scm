;; expect: macro-no-match.scm:4:1: error: no syntax-rules pattern matches this use of the macro (two-args 1)
(define-syntax two-args (syntax-rules () ((_ a b) (+ a b))))
(display (two-args 1 2))
(two-args 1)
