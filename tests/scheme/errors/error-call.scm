;; expect: error-call.scm:2:1: error: custom message 1 "two" (a b)
(error "custom message" 1 "two" (list (quote a) (quote b)))
