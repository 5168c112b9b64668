;; expect: let-syntax and letrec-syntax are not supported
(let-syntax ((foo (syntax-rules () ((_ x) x)))) (foo 1))
