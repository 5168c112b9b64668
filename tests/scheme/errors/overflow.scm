;; expect: integer overflow
(display (* 4611686018427387903 2))
