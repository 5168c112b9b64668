;; Symbols that nothing references are reclaimed: two million fresh symbols in a 64 MiB
;; heap (each costs about 100 bytes of heap while it lives), and a symbol still referenced
;; keeps its identity, its global binding and its use in code made by eval.
;; options: --heap=64M
(import (scheme base) (scheme write) (scheme eval) (scheme process-context))

(define n (if (get-environment-variable "GCVM_GC_STRESS") 20000 2000000))
(define step (quotient n 8))
(define (name i) (string-append "fresh-" (number->string i)))
(define kept '())
(let loop ((i 0))
  (when (< i n)
    (let ((s (string->symbol (name i))))
      (when (= 0 (modulo i step)) (set! kept (cons s kept))))
    (loop (+ i 1))))
(display (length kept)) (newline)
(display (let loop ((k kept) (i (* step (- (length kept) 1))))
           (or (null? k)
               (and (eq? (car k) (string->symbol (name i)))
                    (symbol? (car k))
                    (equal? (symbol->string (car k)) (name i))
                    (loop (cdr k) (- i step))))))
(newline)
;; a symbol made at run time, then bound and referenced by code that eval compiled
(eval (list 'define (string->symbol (string-append "dyn" "-var")) 42) (environment '(scheme base)))
(eval (list 'define (list (string->symbol "dyn-get")) (string->symbol "dyn-var")) (environment '(scheme base)))
(gc)
;; a young value bound to an old heap symbol, then minor collections
(eval (list 'define (string->symbol "dyn-list") '(list 1 2 3)) (environment '(scheme base)))
(let loop ((i 0)) (when (< i (if (get-environment-variable "GCVM_GC_STRESS") 1000 200000)) (string->symbol (name (+ n (modulo i 1000)))) (loop (+ i 1))))
(gc)
(display (list (eval (list (string->symbol "dyn-get")) (environment '(scheme base)))
               (eval (string->symbol "dyn-list") (environment '(scheme base)))
               (eq? 'fresh-0 (string->symbol "fresh-0"))
               (eq? (string->symbol "car") 'car)))
(newline)
