;; Symbols the `read` procedure makes are reclaimed like string->symbol's when nothing
;; references them: a million fresh symbols read from string ports in a 64 MiB heap, and
;; a weak reference to one of them breaks at the next collection. A symbol still
;; referenced keeps its identity (read again, made by string->symbol, named by the
;; program), and code that eval compiled from read data keeps the symbols it names.
;; options: --heap=64M
(import (scheme base) (scheme write) (scheme read) (scheme eval) (scheme process-context))

(define n (if (get-environment-variable "GCVM_GC_STRESS") 20000 1000000))
(define step (quotient n 8))
(define (name i) (string-append "read-" (number->string i)))
(define (read-name i) (read (open-input-string (name i))))
(define kept '())
(let loop ((i 0))
  (when (< i n)
    (let ((s (read-name i)))
      (when (= 0 (modulo i step)) (set! kept (cons s kept))))
    (loop (+ i 1))))
(display (length kept)) (newline)
(display (let loop ((k kept) (i (* step (- (length kept) 1))))
           (or (null? k)
               (and (eq? (car k) (read-name i))
                    (eq? (car k) (string->symbol (name i)))
                    (eq? (car k) (car (read (open-input-string
                                             (string-append "(" (name i) " |x y|)")))))
                    (equal? (symbol->string (car k)) (name i))
                    (loop (cdr k) (- i step))))))
(newline)
;; a weak reference to a read symbol nothing else holds breaks; to a kept one it does not
(define dropped (make-ephemeron (read-name (+ n 1)) #t))
(define held (make-ephemeron (car kept) #t))
(define dropped-bars (make-ephemeron (read (open-input-string "|read bars|")) #t))
;; code made by eval from read data names read symbols
(eval (read (open-input-string "(define (read-get) read-var)")) (environment '(scheme base)))
(eval (read (open-input-string "(define read-var (list 'read-val (lambda (read-arg) read-arg)))"))
      (environment '(scheme base)))
(gc)
(let loop ((i 0)) (when (< i (quotient n 4)) (read-name (+ n 10 i)) (loop (+ i 1))))
(gc)
(display (list (ephemeron-broken? dropped) (ephemeron-broken? dropped-bars)
               (ephemeron-broken? held)
               (eq? (read (open-input-string "car")) 'car)
               (eq? (read (open-input-string "|program symbol|")) '|program symbol|)
               (car (eval (read (open-input-string "(read-get)")) (environment '(scheme base))))
               ((cadr (read-get)) 'ok)))
(newline)
