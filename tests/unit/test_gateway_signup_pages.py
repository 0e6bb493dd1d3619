"""Issue 15's pages: the sign-up form with seed 003's wording, the activation page with the
emailed code prefilled (escaped), and the reset page with the funder's password rules."""
from __future__ import annotations

from markupsafe import escape

from gateway.pages import activation_page, link_page, signup_page
from services.identity.domain import PASSWORD_RULE_SETS


def test_the_sign_up_form_has_seed_003_s_fields_and_statements():
    html = signup_page("opco-demo").get_data(as_text=True)
    assert 'data-funder="opco-demo"' in html and 'name="funder_code"' not in html
    assert "Organisme de formation / CFA" in html
    assert ("Je certifie que le titulaire du compte est autorisé à effectuer les opérations "
            "sélectionnées ci-dessus. *") in html
    assert ("J'accepte les conditions d'utilisation des Services en Ligne afin de valider ma "
            "demande *") in html
    for field in ("siret", "civility", "last_name", "first_name", "email",
                  "email_confirmation", "phone"):
        assert f'name="{field}"' in html
    assert "captcha.js" not in html and 'class="h-captcha"' not in html  # none by default
    assert "devient l'identifiant définitif de votre compte" in html
    assert 'name="funder_code"' in signup_page("").get_data(as_text=True)


def test_the_sign_up_form_shows_the_provider_s_captcha_when_one_is_set():
    html = signup_page("opco-demo", "hcaptcha", "site-key-1").get_data(as_text=True)
    assert '<script src="https://js.hcaptcha.com/1/api.js" async defer></script>' in html
    assert '<div class="h-captcha" data-sitekey="site-key-1"></div>' in html
    assert 'name="captcha_field" value="h-captcha-response"' in html
    recaptcha = signup_page("opco-demo", "recaptcha", "k").get_data(as_text=True)
    assert 'class="g-recaptcha"' in recaptcha and "g-recaptcha-response" in recaptcha
    assert "hcaptcha" not in signup_page("opco-demo", "hcaptcha", "").get_data(as_text=True)


def test_the_activation_page_prefills_the_code_escaped():
    page = activation_page("opco-demo", "a@b.fr", '"><script>x</script>')
    html = page.get_data(as_text=True)
    assert 'value="a@b.fr"' in html and "<script>x</script>" not in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "/password-rules?funder_code=" in html and 'data-funder="opco-demo"' in html


def test_the_reset_page_shows_the_funder_s_rules():
    text = PASSWORD_RULE_SETS["apprentissage"].text
    html = link_page("reset_password", "t", text).get_data(as_text=True)
    assert str(escape(f"Votre mot de passe doit comporter {text}")) in html
    assert "Au moins 8 caractères, dont une majuscule" not in html  # seed 000's default
