"""`coach plans list | show NAME | check FILE...`: the workout plans."""

from __future__ import annotations

from coach.core.library import builtin_library
from coach.core.plans import Plan, all_plans, load_plan
from coach.core.tomlfile import DataFileError
from coach.errors import CoachError
from coach.settings import Settings

NAME = "plans"
HELP = "list the workout plans, show one, or check a plan file you wrote"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("list", help="the built-in plans and yours (in DATA_DIR/plans)")
    show = sub.add_parser("show", help="one plan, exercise by exercise")
    show.add_argument("plan", help="a plan name or a .toml file")
    check = sub.add_parser("check", help="validate plan files; errors name the line")
    check.add_argument("files", nargs="+", help="plan .toml files")


def user_dir(settings: Settings):
    return settings.paths.data_dir / "plans"


def _unit_load(load: float, unit: str) -> str:
    return "body weight" if load == 0 else f"{load:g} {unit}"


def describe(plan: Plan) -> list[str]:
    library = builtin_library()
    lines = [f"{plan.name} ({plan.key}): {len(plan.exercises)} exercises, {plan.total_sets} sets, "
             f"{plan.unit}{', connection style' if plan.connection else ''}"]
    if plan.description:
        lines.append(f"  {plan.description}")
    for item in plan.exercises:
        exercise = library.exercise(item.id)
        reps = f"{item.reps[0]}-{item.reps[1]}" if item.reps[0] != item.reps[1] \
            else str(item.reps[0])
        what = "s hold" if exercise.isometric else " reps"
        amount = f"{item.sets} x {reps}{what}"
        lines.append(f"  {item.id:<18} {amount:<18} "
                     f"{_unit_load(item.load, plan.unit):<12} tempo {item.tempo:<9} "
                     f"rest {item.rest:g} s")
    return lines


def run(args, settings: Settings) -> int:
    library = builtin_library()
    action = args.action or "list"
    if action == "list":
        print(f"{'name':<14} {'exercises':>9} {'sets':>5}  {'unit':<4}  {'style':<10}  title")
        for plan in all_plans(library, user_dir(settings)):
            if isinstance(plan, DataFileError):
                print(f"{'(broken)':<14} {'':>9} {'':>5}  {'':<4}  {'':<10}  {plan.message}")
                continue
            print(f"{plan.key:<14} {len(plan.exercises):>9} {plan.total_sets:>5}  "
                  f"{plan.unit:<4}  {plan.style:<10}  {plan.name}")
        return 0
    if action == "show":
        plan = load_plan(args.plan, library, user_dir(settings))
        print("\n".join(describe(plan)))
        return 0
    failed = 0
    for file in args.files:
        try:
            plan = load_plan(file if file.endswith(".toml") or "/" in file else f"./{file}",
                             library)
        except CoachError as error:
            failed += 1
            print(f"{error.message}\n  fix: {error.fix}")
            continue
        print(f"{file}: ok, {plan.name!r}, {len(plan.exercises)} exercises, "
              f"{plan.total_sets} sets")
    return 2 if failed else 0
