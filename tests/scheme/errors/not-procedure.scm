;; expect: error: not a procedure 5
(5 3)
