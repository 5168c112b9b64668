;; expect: 1+2i: complex numbers are not supported
(display (+ 1 1+2i))
