;; expect: syntax-if.scm:2:1: error: syntax error: if takes a test
(if)
