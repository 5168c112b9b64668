;; expect: syntax error: let: each binding is (name expression)
(let ((1 2)) 3)
