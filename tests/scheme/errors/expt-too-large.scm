;; expect: expt: the result would be too large
(display (expt 3 (expt 2 40)))
