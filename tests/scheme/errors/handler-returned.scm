;; expect: an exception handler returned from a non-continuable raise
(with-exception-handler (lambda (e) 0) (lambda () (raise (quote bad))))
