from dcmview_py.cli import main

raise SystemExit(main())
