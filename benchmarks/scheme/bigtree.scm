;; A long-lived tree with random subtree replacement: a complete binary tree of depth 19
;; (about a million nodes, 50 MB live) whose random depth-8 subtrees are replaced by
;; fresh ones until twice its nodes have been allocated. Each replacement stores a young
;; subtree into an old node, and the replaced subtrees make the old generation turn over.
;;
;; An optional first argument sets the depth (default 19, 16 with GCVM_BENCH_SIZE=quick).
(import (scheme base) (scheme write) (scheme process-context))

(define depth
  (let ((args (command-line)))
    (or (and (pair? args) (pair? (cdr args)) (string->number (cadr args)))
        (if (equal? (get-environment-variable "GCVM_BENCH_SIZE") "quick") 16 19))))
(define subtree-depth 8)

(define seed 11)
(define (next-random!) ; Park and Miller's minimal standard generator
  (set! seed (modulo (* seed 48271) 2147483647))
  seed)

;; A node is a vector: left, right, and the depth below it (checked at the end).
(define (make-tree d)
  (if (= d 0)
      (vector #f #f 0)
      (vector (make-tree (- d 1)) (make-tree (- d 1)) d)))

(define (nodes d) (- (expt 2 (+ d 1)) 1))

(define (count t d)
  (cond ((not t) 0)
        ((not (= (vector-ref t 2) d)) (error "bigtree: a node at the wrong depth" d))
        ((= d 0) 1)
        (else (+ 1 (count (vector-ref t 0) (- d 1)) (count (vector-ref t 1) (- d 1))))))

(define tree (make-tree depth))

(define (replace-random-subtree!)
  (let ((fresh (make-tree subtree-depth)))
    (let walk ((node tree) (d depth) (bits (next-random!)))
      (let ((side (if (odd? bits) 0 1)))
        (if (= d (+ subtree-depth 1))
            (vector-set! node side fresh)
            (walk (vector-ref node side) (- d 1) (quotient bits 2)))))))

(do ((k 0 (+ k 1))) ((= k (quotient (* 2 (nodes depth)) (nodes subtree-depth))))
  (replace-random-subtree!))

(let ((counted (count tree depth)))
  (if (= counted (nodes depth))
      (begin (display "bigtree: ok") (newline))
      (error "bigtree: wrong node count" counted)))
