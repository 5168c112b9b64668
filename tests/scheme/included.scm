;; Read by procedures.scm through include and load; not a test on its own.
(define included-value (* 6 7))
