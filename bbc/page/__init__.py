"""`bbc report`: the hierarchy's state as one page. collect.py gathers what the other layers know
(the plan, the engine's index, the registry, remembered tests, projects' pins, scan reports) into
the frozen objects of model.py; jsonout.py, layout.py + svg.py and html.py render them. Nothing
here changes anything: the report only reads."""
