"""Write ``common_passphrases.txt``: passwords that every guessing tool tries first.

Made here, offline, from passwords that appear at the top of every published list of leaked
passwords (written out below from general knowledge, not copied from a downloaded list) and from
the patterns those lists are full of: digit and keyboard runs, repeated characters, and common
words followed by digits, years or "!". ``studies.sealing.check_passphrase_strength`` compares a
passphrase with it after folding case, dropping spaces and punctuation, undoing l33t spelling and
stripping trailing digits, so "P@ssw0rd 2024!" counts as "password". Run again after editing:

    python studies/data/make_common_passphrases.py
"""

from __future__ import annotations

from pathlib import Path

# The heads of the well-known leaked-password rankings (lower case, no punctuation).
TOP = """
123456 password 123456789 12345678 12345 qwerty 1234567 111111 1234567890 123123 abc123 1234
password1 iloveyou 1q2w3e4r 000000 qwerty123 zaq12wsx dragon sunshine princess letmein 654321
monkey 27653 1qaz2wsx 123321 qwertyuiop superman asdfghjkl trustno1 football baseball welcome
shadow master michael jennifer hunter hunter2 jordan jordan23 696969 mustang access batman charlie
121212 flower passw0rd hello freedom whatever qazwsx ninja azerty solo loveme starwars admin login
666666 888888 7777777 987654321 123qwe killer pokemon cheese computer corvette ashley bailey buster
daniel ginger hannah harley hockey jessica joshua liverpool maggie matthew michelle nicole pepper
ranger robert samsung soccer summer taylor thomas tigger andrew anthony amanda angel babygirl
jesus blessed friends family forever snoopy purple orange yellow banana apple cookie chocolate
butterfly lovely secret changeme default guest test root toor pass passpass mypassword yourpassword
thisismypassword mysecret secretpassword supersecret topsecret masterkey administrator adminadmin
rootroot useruser testtest guestguest demo sample example qwertyu qwerty1 q1w2e3r4 q1w2e3r4t5
q1w2e3r4t5y6 1q2w3e 1q2w3e4r5t 1q2w3e4r5t6y zaq1zaq1 zaq1xsw2 1qazxsw2 qazwsxedc asdfasdf asdasd
qweqwe zxczxc aaaaaa abc12345 abcdef abcdefg abcdefgh abcd1234 aa123456 a123456 1234qwer qwer1234
qwe123 asdf1234 zxcvbnm iloveyou1 iloveyou2 iloveyoubaby minecraft fortnite roblox google facebook
instagram youtube twitter linkedin microsoft windows internet london paris berlin newyork chelsea
arsenal barcelona realmadrid juventus manchester manutd basketball tennis golf yankees cowboys
steelers lakers eagles austin dallas boston chicago maverick phoenix silver golden diamond
precious sweety sweetheart darling honey angel1 princess1 sunshine1 monkey1 dragon1 shadow1
master1 killer1 soccer1 hockey1 baseball1 football1 superman1 batman1 starwars1 pokemon1 welcome1
letmein1 whatever1 charlie1 michael1 jessica1 ashley1 qwertyqwerty passwordpassword iloveu
lovelove loveyou loveyou1 mylove biteme matrix merlin mickey minnie snowball
spiderman wolverine pikachu naruto sasuke goku doraemon hellokitty barbie tinkerbell garfield
scooby tweety simpsons homer bart marley bob rasta1 peace hope faith grace trinity jesus1
jesuschrist godisgood praisethelord blessing heaven angels
motdepasse passwort kennwort contrasena contrasenya senha parola wachtwoord haslo salasana
lozinka heslo jelszo sifre adgangskode losenord passord qwertz qwertzuiop azertyuiop
correcthorsebatterystaple correcthorse thequickbrownfox thequickbrownfoxjumpsoverthelazydog
letmeinplease opensesame passphrase mypassphrase secretphrase
cleftlip cleftpalate cleftlippalate plasticsurgery craniofacial blinded blindedstudy rating
rater owner unblind study mystudy research hospital clinic doctor surgeon nurse patient
medicine health surgery
"""

WORDS_WITH_SUFFIXES = """
password passw0rd welcome letmein iloveyou qwerty admin monkey dragon sunshine princess football
baseball soccer hockey master shadow superman batman starwars pokemon michael jordan charlie
summer winter spring autumn secret changeme hello freedom whatever trustno1 computer internet
abc qwe asd zxc love angel jesus family friends forever study research hospital clinic doctor
cleftlip passphrase mypassword test guest root user login access
"""

SUFFIXES = ["1", "12", "123", "1234", "12345", "123456", "!", "1!", "123!", "01", "007", "69",
            "99", "00", "11", "22", "2000", "2010", "2015", "2020", "2021", "2022", "2023", "2024",
            "2025", "2026", "2027"]

MONTHS = "january february march april may june july august september october november december"
DAYS = "monday tuesday wednesday thursday friday saturday sunday"


def _runs() -> set[str]:
    out: set[str] = set()
    digits = "1234567890"
    for text in (digits, digits[::-1], "0123456789", "9876543210", "abcdefghijklmnopqrstuvwxyz",
                 "qwertyuiopasdfghjklzxcvbnm", "qwertyuiop", "asdfghjkl", "zxcvbnm", "poiuytrewq",
                 "lkjhgfdsa", "mnbvcxz", "1qaz2wsx3edc4rfv5tgb", "1q2w3e4r5t6y7u8i9o0p", "qazwsxedcrfvtgb",
                 "zaq12wsxcde34rfv", "qwertzuiop", "azertyuiop"):
        for n in range(4, len(text) + 1):
            out.add(text[:n])
    for d in "0123456789abcdefghijklmnopqrstuvwxyz":
        for n in range(4, 17):
            out.add(d * n)
    for unit in ("12", "123", "1234", "12345", "abc", "ab", "qwe", "asd", "xo", "ha", "love", "pass"):
        for n in range(2, 7):
            out.add(unit * n)
    out |= {"112233", "11223344", "1122334455", "147258369", "159753", "159357", "741852963", "789456123",
            "852456", "963852741", "147852369", "123654", "5201314", "520520", "13579", "2468", "246810",
            "1357924680", "0987654321", "12341234", "123123123", "123456123456", "1234512345", "1q2w3e4r5t"}
    return out


def build() -> list[str]:
    words = set(TOP.split())
    words |= _runs()
    for word in WORDS_WITH_SUFFIXES.split():
        words.update(word + s for s in SUFFIXES)
    for name in MONTHS.split() + DAYS.split():
        words.add(name)
        words.update(name + s for s in SUFFIXES)
    for season in ("summer", "winter", "spring", "autumn", "fall"):
        words.update(f"{season}{year}" for year in range(1990, 2031))
    return sorted(w for w in words if w.isalnum())


def main() -> None:
    target = Path(__file__).with_name("common_passphrases.txt")
    words = build()
    header = ("# Passwords every guessing tool tries first; made by make_common_passphrases.py (see there).\n"
              f"# {len(words)} entries, lower case, letters and digits only.\n")
    target.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} entries written to {target}")


if __name__ == "__main__":
    main()
