"""How a person proves who they are: one module per way, as Kratos' selfservice/strategy.

- Login methods, the first factor (`methods.METHODS`, by login-method kind): password.py
  (email + password), assertion.py (a provider's signed assertion). Registration, binding
  and login pick one.
- Second factors, identity verification (`factors.FACTORS`, by factor): one_time_code.py
  (a code sent to the secure phone or secure email). Protected operations and flows pick one.

The protocols are in base.py. A new way is a new module and one entry in its registry. This
package module imports nothing, so a strategy may use the service layer that picks it.
"""
