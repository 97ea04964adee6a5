"""Diminutives and nicknames common in England, as groups of names for the same person.

Two given names agree as a nickname when they share a group. Groups are deliberately
narrow: a wrong equivalence could link a child to a sibling.
"""

from __future__ import annotations

from functools import cache

# Each line: one full name and the names the same person may go by.
NICKNAME_GROUPS = """
alfred alfie alf fred freddie freddy
frederick fred freddie freddy
alexander alex xander sandy
alexandra alex alexa lexi lexie sandy
albert bertie bert albie
william will bill billy liam willie
robert rob bob bobby robbie bert
richard rich rick ricky dick richie
edward ed eddie ted teddy ned
theodore theo teddy ted
thomas tom tommy
james jim jimmy jamie
john jack johnny jon
jonathan jon jonny
joseph joe joey
joshua josh
jacob jake
samuel sam sammy
samantha sam sammie
benjamin ben benny benji
daniel dan danny
matthew matt matty
michael mike mikey mick micky
nicholas nick nicky
christopher chris kit
charles charlie chuck chas
charlotte charlie lottie lotty
henry harry hal hank
harrison harry
archibald archie
oliver olly ollie
olivia liv livvy
isabella bella izzy isabel issy
isabel izzy bella issy
elizabeth liz lizzie lizzy beth betty libby eliza elsie
eleanor ellie nell nora
ellen ellie nell
emily em emmy millie
amelia millie mia amy
mildred millie
margaret maggie meg peggy daisy
catherine kate katie cathy kitty
katherine kate katie kathy kitty
rebecca becky becca
jessica jess jessie
jennifer jen jenny
victoria vicky tori
florence flo florrie
abigail abbie abby
gabriella gabby ella
anthony tony ant
stephen steve stevie
steven steve stevie
patrick paddy pat
muhammad mohammed mohammad mohamed
zachary zach zac
maximilian max
maxwell max
nathaniel nat nate
nathan nate
reginald reggie reg
ronald ron ronnie
timothy tim timmy
francis frank frankie
frances fran frankie
sophia sophie
sophie sophia
susan sue susie
deborah debbie deb
""".strip().splitlines()


@cache
def _index() -> dict[str, frozenset[int]]:
    index: dict[str, set[int]] = {}
    for number, line in enumerate(NICKNAME_GROUPS):
        for name in line.split():
            index.setdefault(name, set()).add(number)
    return {name: frozenset(groups) for name, groups in index.items()}


def same_person_names(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` (normalised lower case) are in one nickname group."""
    if a == b:
        return True
    index = _index()
    return bool(index.get(a, frozenset()) & index.get(b, frozenset()))
