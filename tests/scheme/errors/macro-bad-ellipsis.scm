;; expect: syntax-rules: an ellipsis follows a template with no pattern variable from an ellipsis
(define-syntax bad (syntax-rules () ((_ a) (list a ...))))
(bad 1)
