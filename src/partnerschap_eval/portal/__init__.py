"""The schools' web portal (Contract 7): a thin web layer over :mod:`partnerschap_eval.study`.

Each school signs in with a capability link (:mod:`.links`), uploads its exports and sees at once
what was accepted — and nothing of any other school. The research team sees every school, the
links and the audit log, and can start the report. The portal is a client of the study like the
CLI: it holds no statistics and writes study data only through :meth:`Study.submit`.

Django and gunicorn are an optional extra (``pip install partnerschap-eval[portal]``); this
package's ``links`` and ``cli`` modules import neither, so ``portal link`` and ``portal revoke``
work without them.

>>> from partnerschap_eval.portal.links import PortalDB  # no web framework needed
"""
