;; syntax-rules: literals, recursion, ellipses (nested, flattened, with a tail), vectors,
;; escapes. The expected output (macros.out) is what Guile 3.0 prints for the same program.
(define-syntax swap!
  (syntax-rules () ((_ a b) (let ((tmp a)) (set! a b) (set! b tmp)))))
(define x 1) (define y 2)
(swap! x y)
(display (list x y)) (newline)
(define-syntax my-or
  (syntax-rules () ((_) #f) ((_ e) e) ((_ e r ...) (let ((t e)) (if t t (my-or r ...))))))
(display (list (my-or) (my-or #f 3) (my-or #f #f))) (newline)
(define-syntax my-let*
  (syntax-rules () ((_ () body ...) (let () body ...))
                   ((_ ((n v) rest ...) body ...) (let ((n v)) (my-let* (rest ...) body ...)))))
(display (my-let* ((a 1) (b (+ a 1))) (* a b))) (newline)
(define-syntax for
  (syntax-rules (in)
    ((_ x in lst body ...) (for-each (lambda (x) body ...) lst))))
(for e in '(1 2 3) (display e))
(newline)
(define-syntax my-cond
  (syntax-rules (else)
    ((_ (else e ...)) (begin e ...))
    ((_ (c e ...) clause ...) (if c (begin e ...) (my-cond clause ...)))))
(display (my-cond (#f 1) ((= 1 1) 2) (else 3))) (newline)
(define-syntax nest (syntax-rules () ((_ (a b ...) ...) '((a ... ) (b ... ...)))))
(display (nest (1 2 3) (4 5))) (newline)
(define-syntax vec (syntax-rules () ((_ #(a ...)) (list a ...))))
(display (vec #(1 2 3))) (newline)
(define-syntax while
  (syntax-rules () ((_ c body ...) (let lp () (when c body ... (lp))))))
(define i 0) (while (< i 3) (set! i (+ i 1)))
(display i) (newline)
(define-syntax tail-after (syntax-rules () ((_ a ... z) '(last z first-ones a ...))))
(display (tail-after 1 2 3)) (newline)
(define-syntax dots (syntax-rules () ((_ a) '(a (... ...)))))
(display (dots 5)) (newline)
(define-syntax inc! (syntax-rules () ((_ v) (set! v (+ v 1))) ((_ v n) (set! v (+ v n)))))
(define k 0) (inc! k) (inc! k 10)
(display k) (newline)
