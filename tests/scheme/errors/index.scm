;; expect: error: vector-ref: index out of range (length 2) 5
(vector-ref (vector 1 2) 5)
