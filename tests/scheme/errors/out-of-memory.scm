;; expect: out of memory: the heap is full (use --heap=SIZE for a larger one)
;; options: --heap=2M --nursery=64K
(define (grow l) (grow (cons (make-vector 100 0) l)))
(grow (quote ()))
