"""The service-request gateway: how DCC users talk to the hub in DUIS.

``catalogue`` says which Service Reference Variants exist and who may send them (with SEC
modifications applied on the day they come into force), ``codes`` the DUIS response codes and
which validation stage answers with which, ``xml`` reads what users send (securely: no DTDs, no
entities, bounded size and depth), and ``messages`` builds what the hub sends back: the
acknowledgement, the later response, and DCC and device alerts. These modules know nothing of
the database or HTTP; the request store and the endpoints are built on top of them.
"""
